/* nfsub's RRD layout: one definition for every series file nfsub writes.
 * rrd/README.md explains each number; change them there first.
 *
 * Every data source is ABSOLUTE with minimum 0 and no maximum: nfsub hands
 * RRD the bytes of each 5-minute bin and RRD stores bytes/s.
 */
#ifndef NFSUB_RRD_LAYOUT_H
#define NFSUB_RRD_LAYOUT_H

/* One point per nfcapd rotation. */
#define NFSUB_LAYOUT_STEP 300
/* Equal to the step: nfsub writes every bin that saw data exactly one step
 * after the previous one and writes a gap as unknown, so the heartbeat
 * never has to bridge anything; a longer one would only let a hole be
 * filled with the next bin's rate. */
#define NFSUB_LAYOUT_HEARTBEAT 300

/* xff 0.5: a consolidated point is known when at least half of its
 * 5-minute bins are.  Rows:
 *   5-minute AVERAGE  10080 rows = 35 days (>= 2 weeks asked; a weekly
 *                     report run up to four weeks late still sees every
 *                     5-minute bin of its week and the week before).
 *                     No 5-minute MAX: the max of one bin is the bin.
 *   hourly AVERAGE+MAX 87840 rows = 3660 days (10 years with 3 leap days
 *                     and a margin): the long-term store, Figures 2/7-10.
 *   daily AVERAGE+MAX  7320 rows = 20 years of 366 days: Figure 1's
 *                     monthly means and multi-year growth factors.
 * MAX keeps the busiest 5-minute rate within each hour and day (capacity
 * planning needs peaks that averaging flattens). */
#define NFSUB_LAYOUT_RRAS                                                     \
  "RRA:AVERAGE:0.5:1:10080",                                                  \
  "RRA:AVERAGE:0.5:12:87840",                                                 \
  "RRA:MAX:0.5:12:87840",                                                     \
  "RRA:AVERAGE:0.5:288:7320",                                                 \
  "RRA:MAX:0.5:288:7320"

#endif
