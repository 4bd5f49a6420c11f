// The kernels of kernels/cuda/depthwise_direct.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/depthwise_direct.cu"
