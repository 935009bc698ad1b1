# wasm.cmake - libllmr for WebAssembly (included by CMakeLists.txt under emcmake; driven by
# scripts/build-wasm.sh). The engine layers, compiled with SIMD128 (every browser since 2021
# has it; the plain-C reference kernels stay in the traits table as level "ref"), and:
#   llmr-wasm.js/.wasm       the engine and its browser glue (src/bindings/wasm/), the module
#                            js/browser/llmr-worker.js loads in a Web Worker: one thread
#   llmr-wasm-mt.js/.wasm/.worker.js  the same with threads (-pthread), which the worker loads
#                            instead when the page is cross-origin isolated
#   test_wasm_kernels.js     every SIMD128 kernel against the reference, run under Node
# cJSON and utf8proc are compiled from their sources (LLMR_WASM_DEPS: the folder
# build-wasm.sh unpacks Debian's source packages into).

set(LLMR_WASM_DEPS "" CACHE PATH "cJSON and utf8proc sources (scripts/build-wasm.sh)")
if(NOT EXISTS "${LLMR_WASM_DEPS}/cjson/cJSON.c" OR NOT EXISTS "${LLMR_WASM_DEPS}/utf8proc/utf8proc.c")
  message(FATAL_ERROR "LLMR_WASM_DEPS must hold cjson/cJSON.c and utf8proc/utf8proc.c: "
                      "build with scripts/build-wasm.sh")
endif()

add_compile_options(-msimd128)

# The layers below the router: no network (curl), no server, no command line.
set(LLMR_WASM_LAYERS core gguf kernels model tokenizer template sampler stream)
set(LLMR_SOURCES)
foreach(layer ${LLMR_WASM_LAYERS})
  file(GLOB layer_src CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/${layer}/*.c)
  list(FILTER layer_src EXCLUDE REGEX "_avx(2|512)\\.c$")
  list(APPEND LLMR_SOURCES ${layer_src})
endforeach()

configure_file(${CMAKE_SOURCE_DIR}/src/core/version.h.in
               ${CMAKE_BINARY_DIR}/generated/llmr_version.h @ONLY)

# Two builds of everything: one thread (any page), and threads (-pthread: shared memory,
# Web Workers; a page that is cross-origin isolated). Objects linked into a shared memory
# must all be compiled with atomics, so the libraries are built once per variant.
#   llmr_variant(SUFFIX FLAGS...): llmr_wasm_deps${SUFFIX} and llmr_static${SUFFIX}
function(llmr_variant suffix)
  # Third-party sources: their own warnings are not ours to fix.
  add_library(llmr_wasm_deps${suffix} STATIC ${LLMR_WASM_DEPS}/cjson/cJSON.c
                                             ${LLMR_WASM_DEPS}/utf8proc/utf8proc.c)
  target_compile_options(llmr_wasm_deps${suffix} PRIVATE -w ${ARGN})
  target_compile_definitions(llmr_wasm_deps${suffix} PUBLIC UTF8PROC_STATIC)
  target_include_directories(llmr_wasm_deps${suffix} PUBLIC ${LLMR_WASM_DEPS}/include)

  add_library(llmr_static${suffix} STATIC ${LLMR_SOURCES})
  target_compile_options(llmr_static${suffix} PRIVATE ${ARGN})
  target_include_directories(llmr_static${suffix} PUBLIC
    ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src ${CMAKE_BINARY_DIR}/generated)
  target_compile_definitions(llmr_static${suffix} PRIVATE LLMR_BUILDING)
  target_link_libraries(llmr_static${suffix} PUBLIC llmr_wasm_deps${suffix} m)
endfunction()
llmr_variant("")
llmr_variant("_mt" -pthread)

# Memory: grows on demand up to wasm32's 4 GiB address space; the model's file lives in it
# (the worker streams it in from fetch), so a model must fit in 4 GiB with its KV cache and
# work area. An 8 MiB stack: the chat template renderer recurses deeply.
set(LLMR_WASM_LINK -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sINITIAL_MEMORY=64MB
    -sTOTAL_STACK=8MB -sMODULARIZE=1 -sENVIRONMENT=web,worker,node -sEXPORT_NAME=createLlmrModule
    -sEXPORTED_FUNCTIONS=@${CMAKE_SOURCE_DIR}/src/bindings/wasm/exports.json
    -sEXPORTED_RUNTIME_METHODS=UTF8ToString,stringToUTF8,lengthBytesUTF8)

file(GLOB LLMR_WASM_GLUE CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/bindings/wasm/*.c)
add_executable(llmr_wasm ${LLMR_WASM_GLUE})
target_link_libraries(llmr_wasm PRIVATE llmr_static)
set_target_properties(llmr_wasm PROPERTIES OUTPUT_NAME llmr-wasm SUFFIX ".js")
target_link_options(llmr_wasm PRIVATE ${LLMR_WASM_LINK})

# The threads build: llmr-wasm-mt.{js,wasm} and its pthread worker llmr-wasm-mt.worker.js.
# pthread_create cannot start a Worker while the caller runs, so the Workers are made before
# the module starts: as many as the page asks for (Module.llmrPoolSize, set by the worker
# from navigator.hardwareConcurrency: the compute threads but the caller, and one for the
# chat template renderer's deep-stack thread); one more is an error (STRICT=2), not a hang.
# The template renderer gets its 8 MiB on its own thread, as natively (src/stream/chat.c).
add_executable(llmr_wasm_mt ${LLMR_WASM_GLUE})
target_compile_options(llmr_wasm_mt PRIVATE -pthread)
target_link_libraries(llmr_wasm_mt PRIVATE llmr_static_mt)
set_target_properties(llmr_wasm_mt PROPERTIES OUTPUT_NAME llmr-wasm-mt SUFFIX ".js")
target_link_options(llmr_wasm_mt PRIVATE ${LLMR_WASM_LINK} -pthread
  -sPTHREAD_POOL_SIZE=Module.llmrPoolSize -sPTHREAD_POOL_SIZE_STRICT=2
  -Wno-pthreads-mem-growth)   # growth is what a model load needs; its JS cost is small

# The kernel test: one file with the wasm embedded (SINGLE_FILE), so Node runs it as it is.
add_executable(test_wasm_kernels ${CMAKE_SOURCE_DIR}/tests/wasm/wasm_kernels.c)
target_include_directories(test_wasm_kernels PRIVATE ${CMAKE_SOURCE_DIR}/tests/kernels)
target_link_libraries(test_wasm_kernels PRIVATE llmr_static)
set_target_properties(test_wasm_kernels PROPERTIES SUFFIX ".js")
target_link_options(test_wasm_kernels PRIVATE -sALLOW_MEMORY_GROWTH=1 -sSINGLE_FILE=1
  -sENVIRONMENT=node -sEXIT_RUNTIME=1)
