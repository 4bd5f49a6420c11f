// The channels-last layout pass (see passes.h).
#include <algorithm>
#include <map>
#include <set>

#include "build/passes.h"
#include "build/rewriter.h"
#include "kernels/cpu/kernels.h"

namespace ingot::build {

namespace {

const std::vector<int64_t> kToNhwc{0, 2, 3, 1}, kToNchw{0, 3, 1, 2};

// Position in NHWC storage of NCHW axis a (rank 4).
int64_t nhwc_axis(int64_t a) { return a == 0 ? 0 : a == 1 ? 3 : a - 1; }

Expected<ir::ConstantData> permute_constant(const ir::ConstantData& c, const std::vector<int64_t>& perm) {
  std::vector<int64_t> dims;
  for (int64_t a : perm) dims.push_back(c.dims[static_cast<size_t>(a)]);
  ir::ConstantData out = ir::ConstantData::zeros(c.dtype, dims);
  kernels::cpu::TensorView in{const_cast<void*>(c.data), c.dtype, c.dims};
  kernels::cpu::TensorView o{const_cast<void*>(out.data), c.dtype, dims};
  net::PermuteParams p;
  p.perm = perm;
  INGOT_RETURN_IF_ERROR(kernels::cpu::run_layer(p, {in}, {o}));
  return out;
}

class LayoutPass {
 public:
  LayoutPass(const net::Network& net, const std::set<ir::DType>& dtypes) : net_(net), dtypes_(dtypes), rw_(net) {}

  Expected<net::Network> run(int* permutes) {
    for (size_t l = 0; l < net_.layers().size(); ++l) INGOT_RETURN_IF_ERROR(layer(l));
    net::Network& out = rw_.out();
    for (size_t i = 0; i < net_.outputs().size(); ++i) {
      INGOT_ASSIGN_OR_RETURN(int id, plain(net_.outputs()[i]));
      out.mark_output(id, net_.output_names()[i]);
    }
    if (permutes) *permutes = permutes_;
    out.copy_origin_info(net_);  // op and nn.Module path of every origin node, for reports
    return std::move(out);
  }

 private:
  // Produced channels-last (it may have a plain copy too, made for some reader).
  bool is_nhwc(int old_id) const { return produced_nhwc_.count(old_id) > 0; }
  const ir::TensorType& old_type(int id) const { return net_.tensor(id).type; }

  Expected<int> add_permute(int new_id, const std::vector<int64_t>& perm, const std::string& name) {
    net::PermuteParams p;
    p.perm = perm;
    INGOT_ASSIGN_OR_RETURN(std::vector<int> out, rw_.add(p, {new_id}, name, {}));
    ++permutes_;
    return out[0];
  }

  // The tensor in the plain (NCHW) layout, converting once if it is stored NHWC.
  Expected<int> plain(int old_id) {
    if (old_id < 0) return -1;
    if (rw_.is_mapped(old_id) || !nhwc_.count(old_id)) return rw_.map(old_id);
    INGOT_ASSIGN_OR_RETURN(int id, add_permute(nhwc_.at(old_id), kToNchw, net_.tensor(old_id).name + ".nchw"));
    rw_.set(old_id, id);
    return id;
  }

  // The tensor stored NHWC (rank 4), converting once; constants are permuted here.
  Expected<int> nhwc(int old_id) {
    auto it = nhwc_.find(old_id);
    if (it != nhwc_.end()) return it->second;
    const net::Tensor& t = net_.tensor(old_id);
    int id;
    if (t.constant) {
      INGOT_ASSIGN_OR_RETURN(ir::ConstantData c, permute_constant(*t.constant, kToNhwc));
      id = rw_.out().add_constant(t.name + ".nhwc", std::move(c));
    } else {
      INGOT_ASSIGN_OR_RETURN(int plain_id, plain(old_id));
      INGOT_ASSIGN_OR_RETURN(id, add_permute(plain_id, kToNhwc, t.name + ".nhwc"));
    }
    nhwc_[old_id] = id;
    return id;
  }

  // An operand of an NHWC elementwise layer: rank-4 tensors are stored NHWC; lower-rank ones
  // that broadcast over the channel dim are padded to rank 4 first; scalars stay.
  Expected<int> nhwc_operand(int old_id) {
    const ir::TensorType& t = old_type(old_id);
    if (t.rank() == 4) return nhwc(old_id);
    bool scalar = std::all_of(t.shape.begin(), t.shape.end(), [](const ir::SymExpr& d) { return d.as_constant() == 1; });
    if (scalar) return plain(old_id);
    ir::Shape padded(4 - t.rank(), ir::SymExpr(1));
    padded.insert(padded.end(), t.shape.begin(), t.shape.end());
    INGOT_ASSIGN_OR_RETURN(int p, plain(old_id));
    const net::Tensor& tensor = net_.tensor(old_id);
    if (tensor.constant) {
      ir::ConstantData c = *tensor.constant;
      c.dims = *ir::static_dims(padded);
      INGOT_ASSIGN_OR_RETURN(ir::ConstantData perm, permute_constant(c, kToNhwc));
      return rw_.out().add_constant(tensor.name + ".nhwc", std::move(perm));
    }
    net::ReshapeParams r;
    r.shape = padded;
    INGOT_ASSIGN_OR_RETURN(std::vector<int> reshaped, rw_.add(r, {p}, tensor.name + ".rank4", {}));
    return add_permute(reshaped[0], kToNhwc, tensor.name + ".nhwc");
  }

  Status emit(size_t l, net::LayerParams p, std::vector<int> inputs, bool nhwc_output) {
    const net::Layer& layer = net_.layers()[l];
    INGOT_ASSIGN_OR_RETURN(std::vector<int> outs, rw_.add(std::move(p), std::move(inputs), layer.name, layer.origins, layer.tactic));
    for (size_t i = 0; i < outs.size(); ++i) {
      if (nhwc_output) {
        nhwc_[layer.outputs[i]] = outs[i];
        produced_nhwc_.insert(layer.outputs[i]);
      } else {
        rw_.set(layer.outputs[i], outs[i]);
      }
    }
    return Status::ok();
  }

  Status copy_plain(size_t l) {
    const net::Layer& layer = net_.layers()[l];
    std::vector<int> inputs;
    for (int id : layer.inputs) {
      INGOT_ASSIGN_OR_RETURN(int p, plain(id));
      inputs.push_back(p);
    }
    return emit(l, layer.params, inputs, false);
  }

  Status layer(size_t l) {
    const net::Layer& layer = net_.layers()[l];
    const auto& in = layer.inputs;
    bool any_nhwc = std::any_of(in.begin(), in.end(), [&](int id) { return id >= 0 && is_nhwc(id); });
    switch (layer.kind()) {
      case net::LayerKind::kConvolution: {
        const auto& c = std::get<net::ConvolutionParams>(layer.params);
        const ir::TensorType& x = old_type(in[0]);
        if (c.transposed || c.channels_last || x.rank() != 4 || !dtypes_.count(x.dtype)) return copy_plain(l);
        net::ConvolutionParams q = c;
        q.channels_last = true;
        std::vector<int> inputs;
        INGOT_ASSIGN_OR_RETURN(int xi, nhwc(in[0]));
        INGOT_ASSIGN_OR_RETURN(int wi, nhwc(in[1]));
        inputs = {xi, wi, -1, -1};
        if (in.size() > 2 && in[2] >= 0) { INGOT_ASSIGN_OR_RETURN(inputs[2], plain(in[2])); }
        if (in.size() > 3 && in[3] >= 0) { INGOT_ASSIGN_OR_RETURN(inputs[3], nhwc(in[3])); }
        return emit(l, q, inputs, true);
      }
      case net::LayerKind::kUnary:
      case net::LayerKind::kCast:
      case net::LayerKind::kIdentity:
        if (!any_nhwc) return copy_plain(l);
        return emit(l, layer.params, {nhwc_.at(in[0])}, true);
      case net::LayerKind::kElementwise:
      case net::LayerKind::kSelect: {
        bool all_fit = true;
        for (int id : in) all_fit &= old_type(id).rank() <= 4;
        if (!any_nhwc || !all_fit || old_type(layer.outputs[0]).rank() != 4) return copy_plain(l);
        std::vector<int> inputs;
        for (int id : in) {
          INGOT_ASSIGN_OR_RETURN(int v, nhwc_operand(id));
          inputs.push_back(v);
        }
        return emit(l, layer.params, inputs, true);
      }
      case net::LayerKind::kReduce: {
        if (!any_nhwc) return copy_plain(l);
        net::ReduceParams r = std::get<net::ReduceParams>(layer.params);
        std::vector<int64_t> axes;
        for (int64_t a : r.axes) axes.push_back(nhwc_axis(a));
        std::sort(axes.begin(), axes.end());
        // Without keepdim the result is plain only if the kept dims keep their order.
        std::vector<int64_t> kept_nchw, kept_nhwc;
        for (int64_t a : {0, 1, 2, 3}) {
          if (std::find(r.axes.begin(), r.axes.end(), a) == r.axes.end()) kept_nchw.push_back(a);
        }
        for (int64_t pos : {0, 1, 2, 3}) {
          if (std::find(axes.begin(), axes.end(), pos) == axes.end()) kept_nhwc.push_back(kToNhwc[static_cast<size_t>(pos)]);
        }
        if (!r.keepdim && kept_nchw != kept_nhwc) return copy_plain(l);
        r.axes = axes;
        return emit(l, r, {nhwc_.at(in[0])}, r.keepdim);
      }
      case net::LayerKind::kSoftmax: {
        if (!any_nhwc) return copy_plain(l);
        net::SoftmaxParams s = std::get<net::SoftmaxParams>(layer.params);
        s.axis = nhwc_axis(s.axis < 0 ? s.axis + 4 : s.axis);
        return emit(l, s, {nhwc_.at(in[0])}, true);
      }
      case net::LayerKind::kPooling: {
        const auto& p = std::get<net::PoolingParams>(layer.params);
        if (!any_nhwc || p.channels_last || p.kernel.size() != 2 || old_type(in[0]).rank() != 4) return copy_plain(l);
        net::PoolingParams q = p;
        q.channels_last = true;
        return emit(l, q, {nhwc_.at(in[0])}, true);
      }
      case net::LayerKind::kConcat: {
        if (!any_nhwc || old_type(layer.outputs[0]).rank() != 4) return copy_plain(l);
        net::ConcatParams c = std::get<net::ConcatParams>(layer.params);
        c.axis = nhwc_axis(c.axis);
        std::vector<int> inputs;
        for (int id : in) {
          INGOT_ASSIGN_OR_RETURN(int v, nhwc(id));
          inputs.push_back(v);
        }
        return emit(l, c, inputs, true);
      }
      default:
        return copy_plain(l);
    }
  }

  const net::Network& net_;
  const std::set<ir::DType>& dtypes_;
  NetworkRewriter rw_;
  std::map<int, int> nhwc_;  // old tensor id -> new id of its NHWC-stored version
  std::set<int> produced_nhwc_;
  int permutes_ = 0;
};

}  // namespace

Expected<net::Network> channels_last(const net::Network& net, const std::set<ir::DType>& dtypes, int* permutes) {
  bool any = false;
  for (const net::Layer& layer : net.layers()) {
    if (const auto* c = std::get_if<net::ConvolutionParams>(&layer.params)) {
      const ir::TensorType& x = net.tensor(layer.inputs[0]).type;
      any |= !c->transposed && x.rank() == 4 && dtypes.count(x.dtype);
    }
  }
  if (!any) {
    if (permutes) *permutes = 0;
    return net;
  }
  return LayoutPass(net, dtypes).run(permutes);
}

}  // namespace ingot::build
