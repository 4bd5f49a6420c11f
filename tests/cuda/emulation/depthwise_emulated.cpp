// The kernels of kernels/cuda/depthwise.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/depthwise.cu"
