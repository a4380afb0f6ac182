/*
 * Merging the evidence of several bands into one, so a study's bottleneck
 * is classified from every band past the knee at once (the rules are in
 * bottleneck.h, beside analysis_bottleneck_merge).
 */
#include <stdlib.h>
#include <string.h>

#include "analysis/bottleneck.h"
#include "analysis/common.h"

static void merge_event(struct analysis_wait_event *list, size_t *n, size_t max, const struct analysis_wait_event *ev)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(list[i].name, ev->name) == 0) {
            list[i].samples += ev->samples;
            return;
        }
    }
    if (*n < max)
        list[(*n)++] = *ev;
}

static int by_samples(const void *pa, const void *pb)
{
    const struct analysis_wait_event *a = pa, *b = pb;
    if (a->samples != b->samples)
        return a->samples > b->samples ? -1 : 1;
    return strcmp(a->name, b->name);
}

void analysis_bottleneck_merge(const struct analysis_bottleneck_evidence *in, size_t n,
                               struct analysis_bottleneck_evidence *out)
{
    analysis_bottleneck_evidence_init(out);
    if (n == 0)
        return;
    size_t top = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i].workers >= in[top].workers)
            top = i;
    const struct analysis_bottleneck_evidence *t = &in[top];
    out->workers = t->workers;
    out->connections = t->connections;
    out->threads = t->threads;
    out->cores = t->cores;
    out->peak_workers = t->peak_workers;
    out->shared_buffers_bytes = t->shared_buffers_bytes;
    out->work_mem_bytes = t->work_mem_bytes;
    out->max_connections = t->max_connections;
    out->effective_io_concurrency = t->effective_io_concurrency;
    out->previous = in[0].previous;

    struct analysis_wait_event events[ANALYSIS_BOTTLENECK_EVENTS * 8];
    size_t nevents = 0;
    double w_all = 0.0, w_host = 0.0, w_client = 0.0, w_rtt = 0.0, tx_all = 0.0, w_lat = 0.0;
    double tps = 0.0, qps = 0.0, lat_tx = 0.0, wait_tx = 0.0, lat_w = 0.0, wait_w = 0.0;
    double busy = 0.0, iowait = 0.0, steal = 0.0, client = 0.0, rtt = 0.0, mem = 2.0;
    for (size_t i = 0; i < n; i++) {
        const struct analysis_bottleneck_evidence *e = &in[i];
        /* Weights: seconds, or 1 each when a band has none recorded. */
        double w = e->seconds > 0.0 ? e->seconds : 1.0;
        double tx = e->tps * e->seconds;
        if ((int)e->region > (int)out->region)
            out->region = e->region;
        out->seconds += e->seconds;
        w_all += w;
        tps += e->tps * w;
        qps += e->qps * w;
        if (e->latency_ms > 0.0) {
            tx_all += tx;
            lat_tx += e->latency_ms * tx;
            wait_tx += e->pool_wait_ms * tx;
            w_lat += w;
            lat_w += e->latency_ms * w;
            wait_w += e->pool_wait_ms * w;
        }
        if (e->rtt_ms > 0.0) {
            rtt += e->rtt_ms * w;
            w_rtt += w;
        }
        out->rounds += e->rounds;
        out->backends += e->backends;
        out->active += e->active;
        for (int c = 0; c < ANALYSIS_WAIT_COUNT; c++)
            out->wait[c] += e->wait[c];
        for (size_t k = 0; k < e->nevents && k < ANALYSIS_BOTTLENECK_EVENTS; k++)
            merge_event(events, &nevents, sizeof events / sizeof events[0], &e->events[k]);
        if (e->has_database) {
            out->has_database = true;
            out->blks_read += e->blks_read;
            out->blks_hit += e->blks_hit;
            out->temp_files += e->temp_files;
            out->temp_bytes += e->temp_bytes;
            out->xact_commit += e->xact_commit;
            out->deadlocks += e->deadlocks;
        }
        if (e->has_host) {
            out->has_host = true;
            busy += e->host_cpu_busy * w;
            iowait += e->host_iowait * w;
            steal += e->host_steal * w;
            w_host += w;
            out->context_switches += e->context_switches;
            if (e->mem_available > 0.0 && e->mem_available < mem)
                mem = e->mem_available;
        }
        if (e->has_client) {
            out->has_client = true;
            client += e->client_cpu * w;
            w_client += w;
        }
    }
    out->tps = safe_div(tps, w_all, 0.0);
    out->qps = safe_div(qps, w_all, 0.0);
    if (tx_all > 0.0) {
        out->latency_ms = lat_tx / tx_all;
        out->pool_wait_ms = wait_tx / tx_all;
    } else {
        out->latency_ms = safe_div(lat_w, w_lat, 0.0);
        out->pool_wait_ms = safe_div(wait_w, w_lat, 0.0);
    }
    out->rtt_ms = safe_div(rtt, w_rtt, 0.0);
    out->host_cpu_busy = safe_div(busy, w_host, 0.0);
    out->host_iowait = safe_div(iowait, w_host, 0.0);
    out->host_steal = safe_div(steal, w_host, 0.0);
    out->mem_available = mem <= 1.0 ? mem : 0.0;
    out->client_cpu = safe_div(client, w_client, 0.0);
    qsort(events, nevents, sizeof events[0], by_samples);
    out->nevents = nevents < ANALYSIS_BOTTLENECK_EVENTS ? nevents : ANALYSIS_BOTTLENECK_EVENTS;
    memcpy(out->events, events, out->nevents * sizeof events[0]);
}
