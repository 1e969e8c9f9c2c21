// The fused optimiser update (SGD with momentum / Nesterov, Adam, AdamW; weight-decay mask; global-norm clipping)
// over every variable of a model in one call: see optimizer_update.cc.
#pragma once
#include <node_api.h>

namespace gmr {
// optimizerUpdate(params: Float64Array, decay: Uint8Array, inputs: Float32Array[], outputs: Float32Array[],
//                 norm: Float32Array(1)): the N-API entry point.
napi_value optimizerUpdateEntry(napi_env env, napi_callback_info info);
}  // namespace gmr
