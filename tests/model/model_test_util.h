/* model_test_util.h - helpers shared by the model layer's tests (include after test_util.h
 * and model/model.h). */
#ifndef LLMR_MODEL_TEST_UTIL_H
#define LLMR_MODEL_TEST_UTIL_H

/* Opens a model with the given KV cache type and thread count; fails the test otherwise. */
static llmr_model *open_model(const char *path, llmr_kv_type kv, int threads)
{
    llmr_model_opts o = llmr_model_defaults();
    o.kv_type = kv;
    o.n_threads = threads;
    llmr_model *m;
    int rc = llmr_model_open(path, &o, &m);
    if (rc)
        print_message("open %s: %s\n", path, llmr_model_errmsg(m));
    assert_int_equal(rc, LLMR_OK);
    return m;
}

#endif
