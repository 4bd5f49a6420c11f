// The kernels of kernels/cuda/unary.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/unary.cu"
