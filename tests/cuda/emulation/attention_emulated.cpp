// The kernels of kernels/cuda/attention.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/attention.cu"
