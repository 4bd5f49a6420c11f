// The kernels of kernels/cuda/kernels.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/kernels.cu"
