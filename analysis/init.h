/*
 * One-time set-up of GSL for the analysis library.
 *
 * Why: GSL's default error handler calls abort() on any domain or
 * convergence error. A load generator must never die because a fit went
 * badly, so the analysis turns that handler off and checks every GSL return
 * code itself. GSL keeps one handler per process, so this is a process-wide
 * setting: analysis_init() does it exactly once (pthread_once), which makes it
 * safe to call from several threads at once. Every analysis entry point that
 * calls GSL calls analysis_init() itself; calling it early (at start-up) is
 * allowed and costs nothing later. Other code in the same process that
 * relied on GSL aborting will find the handler off.
 */
#ifndef STORMDB_ANALYSIS_INIT_H
#define STORMDB_ANALYSIS_INIT_H

void analysis_init(void);

#endif
