// The kernels of kernels/cuda/linear_mma.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/linear_mma.cu"
