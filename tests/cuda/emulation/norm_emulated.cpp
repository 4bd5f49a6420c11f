// The kernels of kernels/cuda/norm.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/norm.cu"
