/* SPDX-License-Identifier: GPL-2.0 */
/*
 * exitless:* tracepoints: `perf stat -e 'exitless:*'` counts every call the
 * host module handles.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM exitless

#if !defined(EXITLESS_HOST_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define EXITLESS_HOST_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(exitless_hypercall,
	TP_PROTO(unsigned int vcpu_id, unsigned long nr, unsigned long a0,
		 unsigned long a1, unsigned long a2, unsigned long a3, long ret),
	TP_ARGS(vcpu_id, nr, a0, a1, a2, a3, ret),

	TP_STRUCT__entry(
		__field(unsigned int, vcpu_id)
		__field(unsigned long, nr)
		__field(unsigned long, a0)
		__field(unsigned long, a1)
		__field(unsigned long, a2)
		__field(unsigned long, a3)
		__field(long, ret)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->nr = nr;
		__entry->a0 = a0;
		__entry->a1 = a1;
		__entry->a2 = a2;
		__entry->a3 = a3;
		__entry->ret = ret;
	),

	TP_printk("vcpu %u nr 0x%lx a0 0x%lx a1 0x%lx a2 0x%lx a3 0x%lx ret %ld",
		  __entry->vcpu_id, __entry->nr, __entry->a0, __entry->a1,
		  __entry->a2, __entry->a3, __entry->ret)
);

TRACE_EVENT(exitless_vm_release,
	TP_PROTO(unsigned int nr_registered, bool unload),
	TP_ARGS(nr_registered, unload),

	TP_STRUCT__entry(
		__field(unsigned int, nr_registered)
		__field(bool, unload)
	),

	TP_fast_assign(
		__entry->nr_registered = nr_registered;
		__entry->unload = unload;
	),

	TP_printk("registered %u on %s", __entry->nr_registered,
		  __entry->unload ? "module unload" : "VM destroy")
);

TRACE_EVENT(exitless_vcpu_reset,
	TP_PROTO(unsigned int vcpu_id, bool was_registered),
	TP_ARGS(vcpu_id, was_registered),

	TP_STRUCT__entry(
		__field(unsigned int, vcpu_id)
		__field(bool, was_registered)
	),

	TP_fast_assign(
		__entry->vcpu_id = vcpu_id;
		__entry->was_registered = was_registered;
	),

	TP_printk("vcpu %u registered %d", __entry->vcpu_id,
		  __entry->was_registered)
);

#endif /* EXITLESS_HOST_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE exitless_trace
#include <trace/define_trace.h>
