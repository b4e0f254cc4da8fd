#ifndef CCSIM_CGSL_SHIM_H
#define CCSIM_CGSL_SHIM_H

#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_min.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_version.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>
#include <gsl/gsl_eigen.h>

/* GSL exposes these as mutable C globals; Swift 6 treats such globals as shared mutable
   state. They are constants in practice, so read them through accessors. */
static inline const gsl_rng_type *ccsim_rng_mt19937(void) { return gsl_rng_mt19937; }
static inline const char *ccsim_gsl_version(void) { return gsl_version; }
static inline const gsl_min_fminimizer_type *ccsim_min_brent(void) { return gsl_min_fminimizer_brent; }
static inline const gsl_root_fsolver_type *ccsim_root_brent(void) { return gsl_root_fsolver_brent; }
static inline const gsl_multimin_fminimizer_type *ccsim_multimin_nmsimplex2(void) { return gsl_multimin_fminimizer_nmsimplex2; }
static inline const gsl_multimin_fdfminimizer_type *ccsim_multimin_bfgs2(void) { return gsl_multimin_fdfminimizer_vector_bfgs2; }

/* dladdr without depending on _GNU_SOURCE being set for <dlfcn.h>: same layout as Dl_info. */
typedef struct {
    const char *dli_fname;
    void *dli_fbase;
    const char *dli_sname;
    void *dli_saddr;
} ccsim_dl_info;
extern int ccsim_dladdr(const void *address, ccsim_dl_info *info) __asm__("dladdr");
extern void *ccsim_dlsym(void *handle, const char *symbol) __asm__("dlsym");

/* OpenBLAS's thread count (weak: absent when another CBLAS is linked). */
extern void openblas_set_num_threads(int) __attribute__((weak));
static inline int ccsim_blas_set_threads(int n) {
    if (openblas_set_num_threads) { openblas_set_num_threads(n); return 1; }
    return 0;
}

#endif
