// The kernels of kernels/cuda/pointwise_mma.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/pointwise_mma.cu"
