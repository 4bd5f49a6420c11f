// The kernels of kernels/cuda/elementwise.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/elementwise.cu"
