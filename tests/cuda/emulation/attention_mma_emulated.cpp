// The kernels of kernels/cuda/attention_mma.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/attention_mma.cu"
