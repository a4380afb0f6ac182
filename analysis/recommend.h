/*
 * Recommendations: what to change, derived from an analysis result.
 *
 * Each recommendation is a structured record, so reporters can sort, filter
 * and render them: a type (what kind of advice), a priority (1 = act on this
 * first), a category (which knob or concern), a sentence with the numbers,
 * the expected relative TPS gain (0.12 = +12%; 0 when the advice is about
 * trustworthiness rather than speed) and a confidence in [0, 1].
 *
 * The rules and their thresholds are documented in docs/analysis.md. They
 * read the analysis result only; evidence from server observation (which
 * resource is the bottleneck) is a later input and will get its own
 * argument, not a change to these rules.
 */
#ifndef STORMDB_ANALYSIS_RECOMMEND_H
#define STORMDB_ANALYSIS_RECOMMEND_H

#include <stddef.h>

#define ANALYSIS_MAX_RECOMMENDATIONS 12
#define ANALYSIS_SUGGESTION_MAX 320

struct analysis_result;

/* In order of precedence among recommendations of the same priority:
 * figures that cannot be trusted first, then throughput. */
enum analysis_rec_type {
    ANALYSIS_REC_FIX_ERRORS = 0,       /* bands had failed transactions */
    ANALYSIS_REC_MEET_LATENCY,         /* no band met the latency objective */
    ANALYSIS_REC_REDUCE_WORKERS,       /* past the peak: fewer workers give more TPS */
    ANALYSIS_REC_RAISE_CONNECTIONS,    /* workers queue for pool connections */
    ANALYSIS_REC_TEST_MORE_WORKERS,    /* still scaling at the largest band */
    ANALYSIS_REC_CHECK_CLIENT,         /* Little's law: workers idle outside transactions */
    ANALYSIS_REC_MORE_BANDS,           /* too few worker counts for the models */
    ANALYSIS_REC_REPEAT_MEASUREMENT,   /* noisy figures or poor fits */
    ANALYSIS_REC_TYPE_COUNT
};

enum analysis_rec_category {
    ANALYSIS_CATEGORY_WORKERS = 0,
    ANALYSIS_CATEGORY_CONNECTIONS,
    ANALYSIS_CATEGORY_ERRORS,
    ANALYSIS_CATEGORY_LATENCY,
    ANALYSIS_CATEGORY_CLIENT,
    ANALYSIS_CATEGORY_MEASUREMENT,
    ANALYSIS_CATEGORY_COUNT
};

enum analysis_rec_priority {
    ANALYSIS_PRIORITY_HIGH = 1,
    ANALYSIS_PRIORITY_MEDIUM = 2,
    ANALYSIS_PRIORITY_LOW = 3
};

struct analysis_recommendation {
    enum analysis_rec_type type;
    enum analysis_rec_priority priority;
    enum analysis_rec_category category;
    char suggestion[ANALYSIS_SUGGESTION_MAX];
    double expected_gain;    /* relative TPS gain, >= 0 */
    double confidence;       /* [0, 1] */
};

/* "fix_errors", "meet_latency", "reduce_workers", "raise_connections",
 * "test_more_workers", "check_client", "more_bands", "repeat_measurement". */
const char *analysis_rec_type_name(enum analysis_rec_type type);

/* "workers", "connections", "errors", "latency", "client", "measurement". */
const char *analysis_rec_category_name(enum analysis_rec_category category);

/* "high", "medium", "low". */
const char *analysis_rec_priority_name(enum analysis_rec_priority priority);

/*
 * Derive recommendations from a completed result (which keeps a copy of the
 * bands it was computed from). Writes at most `max` records, ordered by
 * priority, then by type (the enum's order), and returns how many.
 */
size_t analysis_recommend(const struct analysis_result *result, struct analysis_recommendation *out, size_t max);

#endif
