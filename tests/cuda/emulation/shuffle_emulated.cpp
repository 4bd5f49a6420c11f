// The kernels of kernels/cuda/shuffle.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/shuffle.cu"
