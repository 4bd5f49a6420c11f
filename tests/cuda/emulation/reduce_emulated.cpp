// The kernels of kernels/cuda/reduce.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/reduce.cu"
