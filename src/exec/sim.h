/* SPDX-License-Identifier: MIT */
/*
 * sim.h - the simulation backend (internal; tooldag-bench simulate): every job succeeds after
 * its call's declared duration, measured on the run's clock. In virtual time a whole run
 * takes no real time and its makespan is exact.
 */
#ifndef TD_SIM_H
#define TD_SIM_H

#include "run/backend.h"

/* dur_us[call]: each call's duration (kept by reference; must outlive the backend). */
int td__sim_backend_new(const int64_t *dur_us, struct td__backend **out);

#endif /* TD_SIM_H */
