// The kernels of kernels/cuda/squeeze_excite.cu compiled by the host compiler (see cuda_emulation.h).
#include "kernels/cuda/squeeze_excite.cu"
