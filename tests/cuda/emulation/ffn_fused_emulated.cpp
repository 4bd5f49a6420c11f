// The kernels of kernels/cuda/ffn_fused.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/ffn_fused.cu"
