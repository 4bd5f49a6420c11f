// Convolution, 1-d to 3-d, grouped (depthwise included), strided, padded, dilated, and
// transposed, with an optional bias.
//
// Forward: per sample and group, the input is unfolded (im2col) into a [C/g * kernel, out
// positions] matrix and multiplied by the group's [O/g, C/g * kernel] weights. Transposed: the
// weights' transpose times the input gives per-position contributions that are scattered back
// (col2im). 1-d and 2-d are run as 3-d with leading axes of size 1.
#include <algorithm>

#include "kernels/cpu/elements.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/indexing.h"
#include "kernels/cpu/ops.h"

namespace ingot::kernels::cpu::detail {

namespace {

// Spatial geometry padded to three axes (depth, height, width).
struct Geometry {
  int64_t in[3] = {1, 1, 1};
  int64_t out[3] = {1, 1, 1};
  int64_t k[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1};
  int64_t pad[3] = {0, 0, 0};
  int64_t dil[3] = {1, 1, 1};

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t k_size() const { return k[0] * k[1] * k[2]; }
  bool is_pointwise() const {
    for (int i = 0; i < 3; ++i) {
      if (k[i] != 1 || stride[i] != 1 || pad[i] != 0) return false;
    }
    return true;
  }
};

Geometry make_geometry(const net::ConvolutionParams& p, const Dims& x, const Dims& w, const Dims& y) {
  Geometry g;
  size_t nsp = x.size() - 2, shift = 3 - nsp;
  for (size_t i = 0; i < nsp; ++i) {
    g.in[shift + i] = x[2 + i];
    g.out[shift + i] = y[2 + i];
    g.k[shift + i] = w[2 + i];
    g.stride[shift + i] = p.stride[i];
    g.pad[shift + i] = p.padding[i];
    g.dil[shift + i] = p.dilation[i];
  }
  return g;
}

// col[(c * k_size + kernel offset), out position] = x[c, input position it reads] or 0 in
// the padding.
void im2col(const Geometry& g, int64_t channels, const float* x, float* col) {
  int64_t out_size = g.out_size(), in_size = g.in_size();
  int64_t row = 0;
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * in_size;
    for (int64_t kd = 0; kd < g.k[0]; ++kd) {
      for (int64_t kh = 0; kh < g.k[1]; ++kh) {
        for (int64_t kw = 0; kw < g.k[2]; ++kw, ++row) {
          float* dst = col + row * out_size;
          for (int64_t od = 0; od < g.out[0]; ++od) {
            int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dil[0];
            for (int64_t oh = 0; oh < g.out[1]; ++oh) {
              int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dil[1];
              float* d = dst + (od * g.out[1] + oh) * g.out[2];
              if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1]) {
                std::fill(d, d + g.out[2], 0.0f);
                continue;
              }
              const float* s = xc + (id * g.in[1] + ih) * g.in[2];
              int64_t iw0 = kw * g.dil[2] - g.pad[2];
              for (int64_t ow = 0; ow < g.out[2]; ++ow) {
                int64_t iw = ow * g.stride[2] + iw0;
                d[ow] = (iw >= 0 && iw < g.in[2]) ? s[iw] : 0.0f;
              }
            }
          }
        }
      }
    }
  }
}

// The inverse scatter of im2col for transposed convolution, with the roles of input and output
// swapped: y[c, position] += col[(c * k_size + kernel offset), input position].
void col2im(const Geometry& g, int64_t channels, const float* col, float* y) {
  int64_t in_size = g.in_size(), out_size = g.out_size();
  int64_t row = 0;
  for (int64_t c = 0; c < channels; ++c) {
    float* yc = y + c * out_size;
    for (int64_t kd = 0; kd < g.k[0]; ++kd) {
      for (int64_t kh = 0; kh < g.k[1]; ++kh) {
        for (int64_t kw = 0; kw < g.k[2]; ++kw, ++row) {
          const float* src = col + row * in_size;
          for (int64_t id = 0; id < g.in[0]; ++id) {
            int64_t od = id * g.stride[0] - g.pad[0] + kd * g.dil[0];
            if (od < 0 || od >= g.out[0]) continue;
            for (int64_t ih = 0; ih < g.in[1]; ++ih) {
              int64_t oh = ih * g.stride[1] - g.pad[1] + kh * g.dil[1];
              if (oh < 0 || oh >= g.out[1]) continue;
              const float* s = src + (id * g.in[1] + ih) * g.in[2];
              float* d = yc + (od * g.out[1] + oh) * g.out[2];
              int64_t ow0 = kw * g.dil[2] - g.pad[2];
              for (int64_t iw = 0; iw < g.in[2]; ++iw) {
                int64_t ow = iw * g.stride[2] + ow0;
                if (ow >= 0 && ow < g.out[2]) d[ow] += s[iw];
              }
            }
          }
        }
      }
    }
  }
}

// Every output channel's plane starts at its bias (or zero).
void init_output(float* y, int64_t batch, int64_t channels, int64_t plane, const float* bias) {
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      float* dst = y + (n * channels + c) * plane;
      std::fill(dst, dst + plane, bias ? bias[c] : 0.0f);
    }
  }
}

void conv_forward(const Geometry& g, int64_t batch, int64_t c_in, int64_t c_out, int64_t groups, const float* x,
                  const float* w, float* y) {
  int64_t cg = c_in / groups, og = c_out / groups, kdim = cg * g.k_size(), positions = g.out_size();
  bool direct = g.is_pointwise();
  std::vector<float> col(direct ? 0 : static_cast<size_t>(kdim * positions));
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t gi = 0; gi < groups; ++gi) {
      const float* xg = x + (n * c_in + gi * cg) * g.in_size();
      const float* b = xg;
      if (!direct) {
        im2col(g, cg, xg, col.data());
        b = col.data();
      }
      gemm_accumulate(og, positions, kdim, w + gi * og * kdim, kdim, b, positions,
                      y + (n * c_out + gi * og) * positions, positions);
    }
  }
}

void conv_transposed(const Geometry& g, int64_t batch, int64_t c_in, int64_t c_out, int64_t groups,
                     const float* x, const float* w, float* y) {
  int64_t cg = c_in / groups, og = c_out / groups, ks = g.k_size(), rows = og * ks, in_size = g.in_size();
  // Per group, the weights [cg, og * ks] transposed to [og * ks, cg].
  std::vector<float> wt(static_cast<size_t>(groups * rows * cg));
  for (int64_t gi = 0; gi < groups; ++gi) {
    const float* wg = w + gi * cg * rows;
    float* tg = wt.data() + gi * rows * cg;
    for (int64_t c = 0; c < cg; ++c) {
      for (int64_t r = 0; r < rows; ++r) tg[r * cg + c] = wg[c * rows + r];
    }
  }
  std::vector<float> col(static_cast<size_t>(rows * in_size));
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t gi = 0; gi < groups; ++gi) {
      std::fill(col.begin(), col.end(), 0.0f);
      gemm_accumulate(rows, in_size, cg, wt.data() + gi * rows * cg, cg, x + (n * c_in + gi * cg) * in_size, in_size,
                      col.data(), in_size);
      col2im(g, og, col.data(), y + (n * c_out + gi * og) * g.out_size());
    }
  }
}

}  // namespace

Status run(const net::ConvolutionParams& p, const Tensors& in, const Tensors& out) {
  const TensorView &x = in[0], &w = in[1], &y = out[0];
  Geometry g = make_geometry(p, x.dims, w.dims, y.dims);
  int64_t batch = x.dims[0], c_in = x.dims[1], c_out = y.dims[1];
  FloatInput fx(x), fw(w);
  std::vector<float> bias;
  if (has_input(in, 2)) bias = load_floats(in[2]);
  FloatOutput fy(y);
  init_output(fy.data(), batch, c_out, g.out_size(), bias.empty() ? nullptr : bias.data());
  if (p.transposed) conv_transposed(g, batch, c_in, c_out, p.groups, fx.data(), fw.data(), fy.data());
  else conv_forward(g, batch, c_in, c_out, p.groups, fx.data(), fw.data(), fy.data());
  fy.commit();
  return Status::ok();
}

}  // namespace ingot::kernels::cpu::detail
