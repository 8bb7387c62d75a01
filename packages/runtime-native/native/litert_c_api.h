// Our own declarations of the subset of the LiteRT C API (CompiledModel API) that the addon uses.
//
// Written from the facts of the public headers of google-ai-edge/LiteRT (litert/c/litert_common.h,
// litert_layout.h, litert_model_types.h, litert_model.h, litert_environment.h, litert_options.h,
// litert_opaque_options.h, litert_compiled_model.h, litert_tensor_buffer.h,
// litert/c/options/litert_cpu_options.cc) and checked against the `libLiteRt.so` exported by the
// ai-edge-litert 2.3.0 wheel (argument registers of LiteRtCreateModelFromFile/FromBuffer/
// CreateOpaqueOptions/CreateManagedTensorBufferFromRequirements were checked by disassembly:
// in 2.3.0 the model constructors take the environment as first argument).
//
// Only the symbols below are used; all of them are exported by libLiteRt.so (VERS_1.0).
#ifndef AUDIOGEN_LITERT_C_API_H_
#define AUDIOGEN_LITERT_C_API_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  kLiteRtStatusOk = 0,
  kLiteRtStatusErrorInvalidArgument = 1,
  kLiteRtStatusErrorMemoryAllocationFailure = 2,
  kLiteRtStatusErrorRuntimeFailure = 3,
  kLiteRtStatusErrorMissingInputTensor = 4,
  kLiteRtStatusErrorUnsupported = 5,
  kLiteRtStatusErrorNotFound = 6,
  kLiteRtStatusErrorTimeoutExpired = 7,
  kLiteRtStatusErrorWrongVersion = 8,
  kLiteRtStatusErrorUnknown = 9,
  kLiteRtStatusErrorAlreadyExists = 10,
  kLiteRtStatusCancelled = 100,
  kLiteRtStatusErrorFileIO = 500,
  kLiteRtStatusErrorInvalidFlatbuffer = 501,
  kLiteRtStatusErrorDynamicLoading = 502,
  kLiteRtStatusErrorSerialization = 503,
  kLiteRtStatusErrorCompilation = 504,
  kLiteRtStatusErrorIndexOOB = 1000,
  kLiteRtStatusErrorInvalidIrType = 1001,
  kLiteRtStatusErrorInvalidGraphInvariant = 1002,
  kLiteRtStatusErrorGraphModification = 1003,
} LiteRtStatus;

// Opaque handles.
typedef struct LiteRtEnvironmentT* LiteRtEnvironment;
typedef struct LiteRtModelT* LiteRtModel;
typedef struct LiteRtSignatureT* LiteRtSignature;
typedef struct LiteRtTensorT* LiteRtTensor;
typedef struct LiteRtOptionsT* LiteRtOptions;
typedef struct LiteRtOpaqueOptionsT* LiteRtOpaqueOptions;
typedef struct LiteRtCompiledModelT* LiteRtCompiledModel;
typedef struct LiteRtTensorBufferT* LiteRtTensorBuffer;
typedef struct LiteRtTensorBufferRequirementsT* LiteRtTensorBufferRequirements;

typedef size_t LiteRtParamIndex;
typedef int LiteRtHwAcceleratorSet;

enum { kLiteRtHwAcceleratorNone = 0, kLiteRtHwAcceleratorCpu = 1, kLiteRtHwAcceleratorGpu = 2 };

typedef enum {
  kLiteRtTensorBufferLockModeRead = 0,
  kLiteRtTensorBufferLockModeWrite = 1,
  kLiteRtTensorBufferLockModeReadWrite = 2,
} LiteRtTensorBufferLockMode;

// Element types (numbered as TfLiteType).
typedef enum {
  kLiteRtElementTypeNone = 0,
  kLiteRtElementTypeFloat32 = 1,
  kLiteRtElementTypeInt32 = 2,
  kLiteRtElementTypeUInt8 = 3,
  kLiteRtElementTypeInt64 = 4,
  kLiteRtElementTypeTfString = 5,
  kLiteRtElementTypeBool = 6,
  kLiteRtElementTypeInt16 = 7,
  kLiteRtElementTypeComplex64 = 8,
  kLiteRtElementTypeInt8 = 9,
  kLiteRtElementTypeFloat16 = 10,
  kLiteRtElementTypeFloat64 = 11,
  kLiteRtElementTypeComplex128 = 12,
  kLiteRtElementTypeUInt64 = 13,
  kLiteRtElementTypeTfResource = 14,
  kLiteRtElementTypeTfVariant = 15,
  kLiteRtElementTypeUInt32 = 16,
  kLiteRtElementTypeUInt16 = 17,
  kLiteRtElementTypeInt4 = 18,
  kLiteRtElementTypeBFloat16 = 19,
  kLiteRtElementTypeInt2 = 20,
} LiteRtElementType;

#define AUDIOGEN_LITERT_MAX_RANK 8

// ABI-stable layout (72-byte LiteRtRankedTensorType on every platform, layout at offset 4).
typedef struct {
  unsigned int rank : 7;
  bool has_strides : 1;
  int32_t dimensions[AUDIOGEN_LITERT_MAX_RANK];
  uint32_t strides[AUDIOGEN_LITERT_MAX_RANK];
} LiteRtLayout;

typedef struct {
  LiteRtElementType element_type;
  LiteRtLayout layout;
} LiteRtRankedTensorType;

// rank and has_strides are bit-fields of different types. The Itanium C ABI (Linux, macOS) packs them
// into one 4-byte unit; the Microsoft layout (MSVC, which builds libLiteRt.dll, and MinGW's default,
// -mms-bitfields) gives each type its own unit, so dimensions start at offset 8 and the type is 76 bytes.

typedef enum { kLiteRtRankedTensorType = 0, kLiteRtUnrankedTensorType = 1 } LiteRtTensorTypeId;

typedef void (*LiteRtHostMemoryDeallocator)(void* addr);

// Environment options (litert_any.h / litert_environment_options.h): a tag and a tagged union value.
typedef enum {
  kLiteRtAnyTypeNone = 0,
  kLiteRtAnyTypeBool = 1,
  kLiteRtAnyTypeInt = 2,
  kLiteRtAnyTypeReal = 3,
  kLiteRtAnyTypeString = 8,  // str_value; the environment keeps the pointer, not a copy
} LiteRtAnyType;
typedef struct {
  LiteRtAnyType type;
  union {
    bool bool_value;
    int64_t int_value;
    double real_value;
    const char* str_value;
    const void* ptr_value;
  };
} LiteRtAny;
enum {
  kLiteRtEnvOptionTagRuntimeLibraryDir = 22,         // string: where GPU accelerator libraries are dlopen'ed from
  kLiteRtEnvOptionTagAutoRegisterAccelerators = 24,  // bitmask of accelerators to register (CPU only: 1)
  kLiteRtEnvOptionTagMinLoggerSeverity = 25,         // 0 verbose, 1 info, 2 warning, 3 error
};
typedef struct {
  int tag;
  LiteRtAny value;
} LiteRtEnvOption;

LiteRtStatus LiteRtCreateEnvironment(int num_options, const LiteRtEnvOption* options, LiteRtEnvironment* environment);
void LiteRtDestroyEnvironment(LiteRtEnvironment environment);

// Model.
LiteRtStatus LiteRtCreateModelFromFile(LiteRtEnvironment environment, const char* filename, LiteRtModel* model);
LiteRtStatus LiteRtCreateModelFromBuffer(LiteRtEnvironment environment, const void* buffer_addr, size_t buffer_size,
                                         LiteRtModel* model);
void LiteRtDestroyModel(LiteRtModel model);
LiteRtStatus LiteRtGetNumModelSignatures(LiteRtModel model, LiteRtParamIndex* num_signatures);
LiteRtStatus LiteRtGetModelSignature(LiteRtModel model, LiteRtParamIndex signature_index, LiteRtSignature* signature);
LiteRtStatus LiteRtGetSignatureKey(LiteRtSignature signature, const char** signature_key);
LiteRtStatus LiteRtGetNumSignatureInputs(LiteRtSignature signature, LiteRtParamIndex* num_inputs);
LiteRtStatus LiteRtGetSignatureInputName(LiteRtSignature signature, LiteRtParamIndex input_idx, const char** input_name);
LiteRtStatus LiteRtGetSignatureInputTensorByIndex(LiteRtSignature signature, LiteRtParamIndex input_idx,
                                                  LiteRtTensor* tensor);
LiteRtStatus LiteRtGetNumSignatureOutputs(LiteRtSignature signature, LiteRtParamIndex* num_outputs);
LiteRtStatus LiteRtGetSignatureOutputName(LiteRtSignature signature, LiteRtParamIndex output_idx,
                                          const char** output_name);
LiteRtStatus LiteRtGetSignatureOutputTensorByIndex(LiteRtSignature signature, LiteRtParamIndex output_idx,
                                                   LiteRtTensor* tensor);
LiteRtStatus LiteRtGetTensorTypeId(LiteRtTensor tensor, LiteRtTensorTypeId* type_id);
LiteRtStatus LiteRtGetRankedTensorType(LiteRtTensor tensor, LiteRtRankedTensorType* ranked_tensor_type);

// Compilation options.
LiteRtStatus LiteRtCreateOptions(LiteRtOptions* options);
void LiteRtDestroyOptions(LiteRtOptions options);
LiteRtStatus LiteRtSetOptionsHardwareAccelerators(LiteRtOptions options, LiteRtHwAcceleratorSet hardware_accelerators);
LiteRtStatus LiteRtAddOpaqueOptions(LiteRtOptions options, LiteRtOpaqueOptions opaque_options);
// The payload is owned by the opaque options from here on (freed with payload_destructor).
LiteRtStatus LiteRtCreateOpaqueOptions(const char* payload_identifier, void* payload_data,
                                       void (*payload_destructor)(void* payload_data), LiteRtOpaqueOptions* options);
void LiteRtDestroyOpaqueOptions(LiteRtOpaqueOptions options);

// Compiled model.
LiteRtStatus LiteRtCreateCompiledModel(LiteRtEnvironment environment, LiteRtModel model, LiteRtOptions options,
                                       LiteRtCompiledModel* compiled_model);
void LiteRtDestroyCompiledModel(LiteRtCompiledModel compiled_model);
LiteRtStatus LiteRtGetCompiledModelInputBufferRequirements(LiteRtCompiledModel compiled_model,
                                                           LiteRtParamIndex signature_index,
                                                           LiteRtParamIndex input_index,
                                                           LiteRtTensorBufferRequirements* requirements);
LiteRtStatus LiteRtGetCompiledModelOutputBufferRequirements(LiteRtCompiledModel compiled_model,
                                                            LiteRtParamIndex signature_index,
                                                            LiteRtParamIndex output_index,
                                                            LiteRtTensorBufferRequirements* requirements);
LiteRtStatus LiteRtGetCompiledModelOutputTensorLayouts(LiteRtCompiledModel compiled_model,
                                                       LiteRtParamIndex signature_index, size_t num_layouts,
                                                       LiteRtLayout* layouts, bool update_allocation);
LiteRtStatus LiteRtRunCompiledModel(LiteRtCompiledModel compiled_model, LiteRtParamIndex signature_index,
                                    size_t num_input_buffers, LiteRtTensorBuffer* input_buffers,
                                    size_t num_output_buffers, LiteRtTensorBuffer* output_buffers);
LiteRtStatus LiteRtCompiledModelResizeInputTensor(LiteRtCompiledModel compiled_model, LiteRtParamIndex signature_index,
                                                  LiteRtParamIndex input_index, const int* dims, size_t dims_size);
LiteRtStatus LiteRtSetCompiledModelCancellationFunction(LiteRtCompiledModel compiled_model, void* data,
                                                        bool (*check_cancelled_func)(void*));

// Error reporter of a compiled model (litert/c/litert_compiled_model.h, LiteRT >= 2.x). Which reporter
// a compiled model has is fixed when it is compiled, by the runtime options (see
// AUDIOGEN_LITERT_RUNTIME_OPTIONS_ID below): none (the interpreter falls back to TFLite's default
// reporter, which prints to stderr), stderr (LiteRT's logger), or buffer (messages collected in memory).
//  - ReportError: appends a printf-formatted message to the reporter (buffer mode: one line, at most
//    1023 bytes; a newline is added when missing). Returns Ok even when no reporter is configured.
//  - GetErrorMessages: buffer mode only; returns everything reported since the last read/clear as one
//    malloc'ed, NUL-terminated string (lines separated by '\n'; the caller frees it with free()) AND
//    clears the buffer. kLiteRtStatusErrorInvalidArgument without a reporter, ...Unsupported with the
//    stderr reporter.
//  - ClearErrors: buffer mode only (same statuses); drops the collected messages.
typedef enum {
  kLiteRtErrorReporterModeNone = 0,
  kLiteRtErrorReporterModeStderr = 1,
  kLiteRtErrorReporterModeBuffer = 2,
} LiteRtErrorReporterMode;
LiteRtStatus LiteRtCompiledModelReportError(LiteRtCompiledModel compiled_model, const char* format, ...);
LiteRtStatus LiteRtCompiledModelClearErrors(LiteRtCompiledModel compiled_model);
LiteRtStatus LiteRtCompiledModelGetErrorMessages(LiteRtCompiledModel compiled_model, char** error_messages);

// Accelerators registered in an environment (litert/c/litert_accelerator.h) and whether a compiled model
// runs entirely on the accelerators it was compiled for (litert/c/litert_compiled_model.h).
typedef struct LiteRtAcceleratorT* LiteRtAccelerator;
LiteRtStatus LiteRtGetNumAccelerators(LiteRtEnvironment environment, LiteRtParamIndex* num_accelerators);
LiteRtStatus LiteRtGetAccelerator(LiteRtEnvironment environment, LiteRtParamIndex index, LiteRtAccelerator* accelerator);
LiteRtStatus LiteRtGetAcceleratorName(LiteRtAccelerator accelerator, const char** name);
LiteRtStatus LiteRtGetAcceleratorHardwareSupport(LiteRtAccelerator accelerator, LiteRtHwAcceleratorSet* supported_hardware);
LiteRtStatus LiteRtCompiledModelIsFullyAccelerated(LiteRtCompiledModel compiled_model, bool* fully_accelerated);

// Op profiling (litert/c/litert_profiler.h): a compiled model made with runtime option enable_profiling
// owns a profiler that records every node of every run (XNNPACK's operators included) once started; the
// summary is TFLite's per-node and per-node-type table, a malloc'd string the caller frees.
typedef struct LiteRtProfilerT* LiteRtProfiler;
LiteRtStatus LiteRtCompiledModelGetProfiler(LiteRtCompiledModel compiled_model, LiteRtProfiler* profiler);
LiteRtStatus LiteRtStartProfiler(LiteRtProfiler profiler);
LiteRtStatus LiteRtResetProfiler(LiteRtProfiler profiler);
LiteRtStatus LiteRtGetProfileSummary(LiteRtProfiler profiler, LiteRtCompiledModel compiled_model,
                                     const char** summary);

// Tensor buffers.
LiteRtStatus LiteRtGetTensorBufferRequirementsBufferSize(LiteRtTensorBufferRequirements requirements,
                                                         size_t* buffer_size);
LiteRtStatus LiteRtCreateTensorBufferFromHostMemory(const LiteRtRankedTensorType* tensor_type, void* host_buffer_addr,
                                                    size_t host_buffer_size, LiteRtHostMemoryDeallocator deallocator,
                                                    LiteRtTensorBuffer* buffer);
LiteRtStatus LiteRtCreateManagedTensorBufferFromRequirements(LiteRtEnvironment env,
                                                             const LiteRtRankedTensorType* tensor_type,
                                                             LiteRtTensorBufferRequirements requirements,
                                                             LiteRtTensorBuffer* buffer);
LiteRtStatus LiteRtGetTensorBufferSize(LiteRtTensorBuffer buffer, size_t* size);
LiteRtStatus LiteRtLockTensorBuffer(LiteRtTensorBuffer buffer, void** host_mem_addr, LiteRtTensorBufferLockMode mode);
LiteRtStatus LiteRtUnlockTensorBuffer(LiteRtTensorBuffer buffer);
void LiteRtDestroyTensorBuffer(LiteRtTensorBuffer buffer);

// Custom op kernels (litert/c/litert_custom_op_kernel.h, litert_options.h): LiteRT's CUSTOM-op dispatcher
// calls these for every node whose custom_code is the registered name. It passes one user data to every
// node, wraps each input/output tensor's memory in a host tensor buffer (no copy; constant inputs too) and
// ignores the statuses Run and GetOutputLayouts return.
typedef struct {
  LiteRtStatus (*Init)(void* user_data, const void* init_data, size_t init_data_size);
  LiteRtStatus (*GetOutputLayouts)(void* user_data, size_t num_inputs, const LiteRtLayout* input_layouts,
                                   size_t num_outputs, LiteRtLayout* output_layouts);
  LiteRtStatus (*Run)(void* user_data, size_t num_inputs, const LiteRtTensorBuffer* inputs, size_t num_outputs,
                      LiteRtTensorBuffer* outputs);
  LiteRtStatus (*Destroy)(void* user_data);
} LiteRtCustomOpKernel;
LiteRtStatus LiteRtAddCustomOpKernelOption(LiteRtOptions options, const char* custom_op_name, int custom_op_version,
                                           const LiteRtCustomOpKernel* custom_op_kernel,
                                           void* custom_op_kernel_user_data);

#ifdef __cplusplus
}  // extern "C"

// Also on Windows: libLiteRt.dll packs rank/has_strides into 4 bytes (dimensions at offset 4, seen from
// the shapes it returns), while MinGW's default Microsoft bit-field layout would put them at offset 8.
// Build the Windows addon with -mno-ms-bitfields; this assertion stops any other layout.
static_assert(sizeof(LiteRtRankedTensorType) == 72, "LiteRtRankedTensorType must be 72 bytes");
static_assert(sizeof(LiteRtEnvOption) == 24, "LiteRtEnvOption must be 24 bytes (LP64)");
#endif

// CPU options travel as opaque options with this identifier and a TOML payload
// (keys: num_threads, flags, weight_cache_file_path, kernel_mode), as LiteRT's own
// LrtGetOpaqueCpuOptionsData serializes them (litert/c/options/litert_cpu_options.cc) and
// ParseLiteRtCpuOptions (litert/runtime/litert_cpu_options.cc) parses them.
#define AUDIOGEN_LITERT_CPU_OPTIONS_ID "xnnpack"

// Runtime options travel the same way, with this identifier and a TOML payload (keys: enable_profiling,
// error_reporter_mode (a LiteRtErrorReporterMode), compress_quantization_zero_points), as LiteRT's own
// litert::RuntimeOptions::GetOpaqueOptions (litert/cc/options/litert_runtime_options.cc) serializes them.
// Side effect of passing any runtime options (litert/runtime/compiled_model.cc): the interpreter is built
// with StableHLO composite inlining enabled.
#define AUDIOGEN_LITERT_RUNTIME_OPTIONS_ID "runtime_options_string"

// GPU options travel the same way too: identifier "gpu_options", a TOML payload parsed by the GPU accelerator
// library (LrtCreateGpuOptionsFromToml, litert/c/options/litert_gpu_options.cc); we set `precision`
// (a LiteRtDelegatePrecision: 0 default, 1 fp16, 2 fp32). Checked with the 2.1.6 x64 accelerator:
// precision = 2 gives outputs equal to the CPU path, the default rounds through fp16.
#define AUDIOGEN_LITERT_GPU_OPTIONS_ID "gpu_options"

#endif  // AUDIOGEN_LITERT_C_API_H_
