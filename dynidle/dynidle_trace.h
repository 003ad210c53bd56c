/* SPDX-License-Identifier: GPL-2.0 */
/*
 * exitless_guest:exitless_dynidle_* tracepoints: one event per idle period
 * the dynidle driver handled (`perf stat -e exitless_guest:*` in the guest).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM exitless_guest

#if !defined(EXITLESS_DYNIDLE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define EXITLESS_DYNIDLE_TRACE_H

#include <linux/tracepoint.h>

/*
 * @outcome: 0 no poll (contended or no budget), then a halt, 1 poll
 * ended by a wake-up, 2 poll ran out and the CPU halted, 3 the timer
 * ended the poll (ran up to its deadline, or its interrupt came) and the
 * CPU went back to the idle loop
 */
TRACE_EVENT(exitless_dynidle_idle,
	TP_PROTO(unsigned int cpu, u64 budget_ns, u64 polled_ns, u64 idle_ns,
		 u64 window_ns, int outcome, bool contended, bool to_deadline),
	TP_ARGS(cpu, budget_ns, polled_ns, idle_ns, window_ns, outcome,
		contended, to_deadline),

	TP_STRUCT__entry(
		__field(unsigned int, cpu)
		__field(u64, budget_ns)
		__field(u64, polled_ns)
		__field(u64, idle_ns)
		__field(u64, window_ns)
		__field(int, outcome)
		__field(bool, contended)
		__field(bool, to_deadline)
	),

	TP_fast_assign(
		__entry->cpu = cpu;
		__entry->budget_ns = budget_ns;
		__entry->polled_ns = polled_ns;
		__entry->idle_ns = idle_ns;
		__entry->window_ns = window_ns;
		__entry->outcome = outcome;
		__entry->contended = contended;
		__entry->to_deadline = to_deadline;
	),

	TP_printk("cpu %u budget %llu polled %llu idle %llu window %llu outcome %s contended %d to_deadline %d",
		  __entry->cpu, __entry->budget_ns, __entry->polled_ns,
		  __entry->idle_ns, __entry->window_ns,
		  __print_symbolic(__entry->outcome, { 0, "skipped" },
				   { 1, "woken" }, { 2, "halted" },
				   { 3, "deadline" }),
		  __entry->contended, __entry->to_deadline)
);

#endif /* EXITLESS_DYNIDLE_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE dynidle_trace
#include <trace/define_trace.h>
