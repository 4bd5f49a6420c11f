// The kernels of kernels/cuda/small_input_conv.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/small_input_conv.cu"
