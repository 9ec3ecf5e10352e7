/* Source annotation (SAL) and calling-convention keywords that driver code
 * writes, defined away so the code compiles unchanged with gcc and clang. */
#ifndef WDFSIM_SAL_H_
#define WDFSIM_SAL_H_

#define _In_
#define _In_opt_
#define _In_z_
#define _In_opt_z_
#define _Out_
#define _Out_opt_
#define _Inout_
#define _Inout_opt_
#define _In_reads_(n)
#define _In_reads_bytes_(n)
#define _In_reads_bytes_opt_(n)
#define _Out_writes_(n)
#define _Out_writes_bytes_(n)
#define _Out_writes_bytes_opt_(n)
#define _Out_writes_bytes_all_opt_(n)
#define _Outptr_
#define _Outptr_opt_
#define _Outptr_result_bytebuffer_(n)
#define _Outptr_opt_result_bytebuffer_(n)
#define _Outptr_result_buffer_(n)
#define _Deref_out_range_(a, b)
#define _Must_inspect_result_
#define _Success_(x)
#define _Use_decl_annotations_
#define _When_(c, a)
#define _At_(t, a)
#define _Pre_notnull_
#define _Post_
#define _Post_invalid_
#define _Post_satisfies_(x)
#define _Strict_type_match_
#define _Analysis_assume_(x)
#define _Analysis_mode_(x)
#define _IRQL_requires_(x)
#define _IRQL_requires_max_(x)
#define _IRQL_requires_min_(x)
#define _IRQL_raises_(x)
#define _IRQL_saves_
#define _IRQL_restores_
#define _IRQL_saves_global_(a, b)
#define _IRQL_restores_global_(a, b)
#define _IRQL_requires_same_
#define _IRQL_always_function_min_(x)
#define _IRQL_always_function_max_(x)
#define _Function_class_(x)
#define _Dispatch_type_(x)
#define _Requires_lock_held_(x)
#define _Releases_lock_(x)
#define _Acquires_lock_(x)
#define _Field_size_(x)
#define _Field_size_bytes_(x)
#define _Field_range_(a, b)
#define _Null_terminated_
#define _Frees_ptr_
#define _Frees_ptr_opt_
#define _Ret_maybenull_
#define _Ret_range_(a, b)
#define _Kernel_float_saved_
#define _Kernel_float_restored_
#define _Kernel_requires_resource_held_(x)
/* The older __in family collides with libstdc++'s own parameter names, so C++
 * code opts in with WDFSIM_LEGACY_SAL (after its standard headers). */
#if !defined(__cplusplus) || defined(WDFSIM_LEGACY_SAL)
#define __in
#define __in_opt
#define __out
#define __out_opt
#define __inout
#define __inout_opt
#endif
#define __drv_when(c, a)
#define __drv_maxIRQL(x)
#define __drv_minIRQL(x)
#define __drv_requiresIRQL(x)
#define __drv_raisesIRQL(x)
#define __drv_savesIRQL
#define __drv_restoresIRQL
#define __drv_savesIRQLGlobal(a, b)
#define __drv_restoresIRQLGlobal(a, b)
#define __drv_strictTypeMatch(x)
#define __drv_aliasesMem
#define __drv_freesMem(x)
#define __drv_allocatesMem(x)
#define __drv_dispatchType(x)
#define __drv_functionClass(x)
#define __drv_sameIRQL
#define __drv_clearDoInit(x)
#define __drv_reportError(x)
#define __drv_isObjectPointer
#define __analysis_assume(x)
#define __sdv_save_request(x)
#define __sdv_retrieve_request(x)

#define NTAPI
#ifndef __cdecl
#define __cdecl
#endif
#define NTSYSAPI
#define NTKERNELAPI
#define WDFAPI
#define FORCEINLINE static inline
#define DECLSPEC_NORETURN __attribute__((noreturn))
#define UNREFERENCED_PARAMETER(P) ((void)(P))
#define PAGED_CODE() ((void)0)
#define INIT_CODE

#endif /* WDFSIM_SAL_H_ */
