/*
 * Shared definitions of PathLens's wasm32 SIMD kernels.
 *
 * The kernels run on the TF.js wasm backend's own linear memory (the module imports it), so they
 * must not touch memory they were not given: no stack frames, no static data, no libc. build.sh
 * checks the linked module has no globals and no data segments. Pointers are byte offsets into that
 * memory; every length is in elements.
 */
#ifndef PATHLENS_COMMON_H
#define PATHLENS_COMMON_H

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

#endif
