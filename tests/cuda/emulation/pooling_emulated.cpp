// The kernels of kernels/cuda/pooling.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/pooling.cu"
