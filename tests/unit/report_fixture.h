/*
 * report_fixture.h - a small hand-made case database for the query and
 * report tests (test_queries.c, test_report.c).
 *
 * Only capture metadata, threads, stacks and the analysis tables are
 * filled (the queries never read raw events); holder_time and
 * thread_time are computed from the rows they sum by their SQL
 * definitions (summary_ref.h).  Every number the tests
 * expect is derived by hand from these rows; the scenario (times in ns):
 *
 *   pid 100 "qemu": main loop tid 100 "qemu-main" (utid 1), vCPUs 101
 *   "CPU 0/KVM" (utid 2) and 102 "CPU 1/KVM" (utid 3), worker 103
 *   "worker" (utid 4); tid 200 "stress" (pid 200, utid 5) preempts.
 *   Global mutex: futex 0x1000 of pid 100.  0x2000: the worker's lock.
 *   0x3000: vCPU 0's halt condvar.  Capture spans [0, 100000).
 *
 *   vCPU 0: blocks 1 [10000,30000) and 2 [60000,70000) on the global
 *           mutex, block 3 [80000,90000) on the condvar; preempted by 100
 *           [50000,55000).  Observed 100000: running 51500, preempted
 *           5000, woken 3500, global 30000, other 10000.
 *   vCPU 1: unknown [0,5000); blocks 4 [20000,60000), 5 [70000,75000),
 *           6 [80000,82000) on the global mutex.  Observed 95000: running
 *           43500, woken 4500, global 47000.
 *   Holders of global blocks (chain depth 1), total 77000:
 *     100: 35000 = running 17000, preempted 10000 (by 200), futex 8000
 *          (on 0x2000 held by 103 which was blocked_io: depth 2)
 *     101: 30000 = running 23000, runnable 2000, preempted 5000 (by 100)
 *     102: 5000 running; unknown holder: 5000; 103: 2000 running.
 */
#ifndef WC_REPORT_FIXTURE_H
#define WC_REPORT_FIXTURE_H

#include "summary_ref.h"

static const char wc_report_fixture_sql[] =
	"INSERT INTO capture(key,value) VALUES"
	" ('source_file','/tmp/case/capture.perf.data'),('format','perf.data'),"
	" ('format_version','2'),('hostname','host1'),('osrelease','6.1.0'),"
	" ('arch','x86_64'),('nrcpus','2'),('clock','CLOCK_MONOTONIC'),"
	" ('first_ts','0'),('last_ts','100000'),('events','1234'),"
	" ('truncated','0'),('has_stacks','1'),('has_sched_waking','1'),"
	" ('has_futex','1');\n"
	"INSERT INTO analysis(key,value) VALUES ('wakeup_source','sched_waking'),"
	" ('vcpu_regex','^CPU [0-9]+/KVM$'),('depth_limit','8');\n"
	"INSERT INTO event_count(name,count,stored) VALUES ('sched_switch',40,1),"
	" ('sched_waking',20,1),('sys_enter_futex',30,1),('sys_exit_futex',30,1);\n"
	"INSERT INTO lost(cpu,ts_from_ns,ts_ns,count,kind) VALUES (1,40000,41000,12,'lost');\n"
	"INSERT INTO thread(utid,tid,pid,pid_source,comm,start_ns,end_ns) VALUES"
	" (1,100,100,'capture','qemu-main',0,100000),"
	" (2,101,100,'capture','CPU 0/KVM',0,100000),"
	" (3,102,100,'capture','CPU 1/KVM',0,100000),"
	" (4,103,100,'capture','worker',0,100000),"
	" (5,200,200,'capture','stress',0,100000);\n"
	"INSERT INTO vcpu(utid,tid,pid,comm,vcpu_index,accel) VALUES (2,101,100,'CPU 0/KVM',0,'KVM'),"
	" (3,102,100,'CPU 1/KVM',1,'KVM');\n"
	/* thread_state: utid,tid,start,end,state,cpu,runnable_reason,preempted_by,block_id */
	"INSERT INTO thread_state(utid,tid,start_ns,end_ns,state,cpu,"
	"runnable_reason,preempted_by,block_id) VALUES"
	" (2,101,0,10000,'running',0,NULL,NULL,NULL),"
	" (2,101,10000,30000,'sleeping',0,NULL,NULL,1),"
	" (2,101,30000,32000,'runnable',0,'woken',NULL,1),"
	" (2,101,32000,50000,'running',0,NULL,NULL,NULL),"
	" (2,101,50000,55000,'runnable',0,'preempted',100,NULL),"
	" (2,101,55000,60000,'running',0,NULL,NULL,NULL),"
	" (2,101,60000,70000,'sleeping',0,NULL,NULL,2),"
	" (2,101,70000,71000,'runnable',0,'woken',NULL,2),"
	" (2,101,71000,80000,'running',0,NULL,NULL,NULL),"
	" (2,101,80000,90000,'sleeping',0,NULL,NULL,3),"
	" (2,101,90000,90500,'runnable',0,'woken',NULL,3),"
	" (2,101,90500,100000,'running',0,NULL,NULL,NULL),"
	" (3,102,0,5000,'unknown',NULL,NULL,NULL,NULL),"
	" (3,102,5000,20000,'running',1,NULL,NULL,NULL),"
	" (3,102,20000,60000,'sleeping',1,NULL,NULL,4),"
	" (3,102,60000,63000,'runnable',1,'woken',NULL,4),"
	" (3,102,63000,70000,'running',1,NULL,NULL,NULL),"
	" (3,102,70000,75000,'sleeping',1,NULL,NULL,5),"
	" (3,102,75000,76000,'runnable',1,'woken',NULL,5),"
	" (3,102,76000,80000,'running',1,NULL,NULL,NULL),"
	" (3,102,80000,82000,'sleeping',1,NULL,NULL,6),"
	" (3,102,82000,82500,'runnable',1,'woken',NULL,6),"
	" (3,102,82500,100000,'running',1,NULL,NULL,NULL),"
	" (1,100,0,20000,'running',1,NULL,NULL,NULL),"
	" (1,100,20000,25000,'runnable',1,'preempted',200,NULL),"
	" (1,100,25000,29000,'sleeping',1,NULL,NULL,7),"
	" (1,100,29000,100000,'running',1,NULL,NULL,NULL),"
	" (4,103,0,25000,'unknown',NULL,NULL,NULL,NULL),"
	" (4,103,25000,29000,'blocked_io',0,NULL,NULL,8),"
	" (4,103,29000,100000,'running',0,NULL,NULL,NULL);\n"
	"INSERT INTO block(id,utid,tid,pid,start_ns,end_ns,state,reason,futex_uaddr,"
	"futex_pid,futex_cmd,waker_tid,waker_utid,wakeup_ns,wakeup_source,"
	"switch_in_ns,stack_id,on_global_lock,is_vcpu) VALUES"
	" (1,2,101,100,10000,30000,'S','futex',4096,100,0,100,1,30000,'sched_waking',32000,1,1,1),"
	" (2,2,101,100,60000,70000,'S','futex',4096,100,0,102,3,70000,'sched_waking',71000,1,1,1),"
	" (3,2,101,100,80000,90000,'S','futex',12288,100,9,100,1,90000,'sched_waking',90500,2,0,1),"
	" (4,3,102,100,20000,60000,'S','futex',4096,100,0,101,2,60000,'sched_waking',63000,1,1,1),"
	" (5,3,102,100,70000,75000,'S','futex',4096,100,0,NULL,NULL,75000,'sched_waking',76000,1,1,1),"
	" (6,3,102,100,80000,82000,'S','futex',4096,100,0,103,4,82000,'sched_waking',82500,2,1,1),"
	" (7,1,100,100,25000,29000,'S','futex',8192,100,0,103,4,29000,'sched_waking',29000,NULL,0,0),"
	" (8,4,103,100,25000,29000,'D','io',NULL,NULL,NULL,0,NULL,29000,'sched_waking',29000,3,0,0);\n"
	"INSERT INTO block_holder(block_id,seq,holder_tid,holder_utid,"
	"from_ns,to_ns,release_futex_id,is_waker,certainty) VALUES"
	" (1,1,100,1,10000,30000,NULL,1,'exact'),"
	" (2,1,100,1,60000,65000,NULL,0,'exact'),"
	" (2,2,102,3,65000,70000,NULL,1,'exact'),"
	" (3,1,100,1,80000,90000,NULL,1,'not_a_lock'),"
	" (4,1,100,1,20000,30000,NULL,0,'exact'),"
	" (4,2,101,2,30000,60000,NULL,1,'exact'),"
	" (5,1,NULL,NULL,70000,75000,NULL,0,'no_release'),"
	" (6,1,103,4,80000,82000,NULL,1,'exact'),"
	" (7,1,103,4,25000,29000,NULL,1,'exact');\n"
	/* chain: id,block_id,parent_id,depth,tid,utid,from,to,state,futex_uaddr,futex_pid,sub_block_id,parent_tid,preempted_by,cpu */
	"INSERT INTO chain(id,block_id,parent_id,depth,tid,utid,from_ns,to_ns,state,"
	"futex_uaddr,futex_pid,sub_block_id,parent_tid,preempted_by,cpu) VALUES"
	" (1,1,NULL,1,100,1,10000,20000,'running',NULL,NULL,NULL,101,NULL,1),"
	" (2,1,NULL,1,100,1,20000,25000,'preempted',NULL,NULL,NULL,101,200,1),"
	" (3,1,NULL,1,100,1,25000,29000,'futex',8192,100,7,101,NULL,1),"
	" (4,1,3,2,103,4,25000,29000,'blocked_io',NULL,NULL,8,100,NULL,0),"
	" (5,1,NULL,1,100,1,29000,30000,'running',NULL,NULL,NULL,101,NULL,1),"
	" (6,2,NULL,1,100,1,60000,65000,'running',NULL,NULL,NULL,101,NULL,1),"
	" (7,2,NULL,1,102,3,65000,70000,'running',NULL,NULL,NULL,101,NULL,1),"
	" (8,4,NULL,1,100,1,20000,25000,'preempted',NULL,NULL,NULL,102,200,1),"
	" (9,4,NULL,1,100,1,25000,29000,'futex',8192,100,7,102,NULL,1),"
	" (10,4,9,2,103,4,25000,29000,'blocked_io',NULL,NULL,8,100,NULL,0),"
	" (11,4,NULL,1,100,1,29000,30000,'running',NULL,NULL,NULL,102,NULL,1),"
	" (12,4,NULL,1,101,2,30000,32000,'runnable',NULL,NULL,NULL,102,NULL,0),"
	" (13,4,NULL,1,101,2,32000,50000,'running',NULL,NULL,NULL,102,NULL,0),"
	" (14,4,NULL,1,101,2,50000,55000,'preempted',NULL,NULL,NULL,102,100,0),"
	" (15,4,NULL,1,101,2,55000,60000,'running',NULL,NULL,NULL,102,NULL,0),"
	" (16,5,NULL,1,NULL,NULL,70000,75000,'unknown',NULL,NULL,NULL,102,NULL,NULL),"
	" (17,6,NULL,1,103,4,80000,82000,'running',NULL,NULL,NULL,102,NULL,0);\n"
	"INSERT INTO futex_object(pid,uaddr,kind,waiters,vcpu_waiters,wakers,"
	"blocks,blocked_ns,vcpu_blocked_ns,wait_calls,wake_calls) VALUES"
	" (100,4096,'mutex',2,2,3,5,77000,77000,7,6),"
	" (100,8192,'mutex',1,0,1,1,4000,0,1,1),"
	" (100,12288,'condvar',1,1,1,1,10000,10000,1,1);\n"
	"INSERT INTO global_lock(pid,futex_uaddr,share,blocked_ns,nblocks,"
	"symbol,chosen_by) VALUES (100,4096,0.885057471264368,77000,5,"
	" 'qemu_global_mutex','auto');\n"
	"INSERT INTO vcpu_switch(utid,tid,ts,switch_seq,reason,prev_state_str,"
	"block_id,stack_id,evidence) VALUES"
	" (2,101,10000,10,'futex_global','S',1,1,'futex_wait_queue'),"
	" (2,101,50000,50,'preempted','R',NULL,NULL,NULL),"
	" (2,101,60000,60,'futex_global','S',2,1,'futex_wait_queue'),"
	" (2,101,80000,80,'futex_other','S',3,2,'futex_wait_queue'),"
	" (3,102,20000,20,'futex_global','S',4,1,'futex_wait_queue'),"
	" (3,102,70000,70,'futex_global','S',5,1,'futex_wait_queue'),"
	" (3,102,80000,81,'futex_global','S',6,2,'futex_wait_queue');\n"
	"INSERT INTO vcpu_slice(utid,tid,cpu,start_ns,end_ns,end_reason) VALUES"
	" (2,101,0,0,10000,'futex_global'),(2,101,0,32000,50000,'preempted'),"
	" (2,101,0,55000,60000,'futex_global'),(2,101,0,71000,80000,'futex_other'),"
	" (2,101,0,90500,100000,NULL),"
	" (3,102,1,5000,20000,'futex_global'),(3,102,1,63000,70000,'futex_global'),"
	" (3,102,1,76000,80000,'futex_global'),(3,102,1,82500,100000,NULL);\n"
	"INSERT INTO stack(id,nframes,hash) VALUES (1,5,11),(2,4,22),(3,2,33);\n"
	"INSERT INTO stack_frame(stack_id,depth,ip,is_kernel,symbol,"
	"symbol_offset,dso,dso_offset) VALUES"
	" (1,0,4294967296,1,'futex_wait_queue',16,'[kernel.kallsyms]',NULL),"
	" (1,1,4294967552,1,'futex_wait',32,'[kernel.kallsyms]',NULL),"
	" (1,2,4294967808,1,'do_futex',8,'[kernel.kallsyms]',NULL),"
	" (1,3,140000000,0,'__lll_lock_wait',20,'/usr/lib/libc.so.6',4660),"
	" (1,4,5000000,0,'qemu_mutex_lock_impl',40,'/usr/bin/qemu',4096),"
	" (2,0,4294967296,1,'futex_wait_queue',16,'[kernel.kallsyms]',NULL),"
	" (2,1,4294967552,1,'futex_wait',32,'[kernel.kallsyms]',NULL),"
	" (2,2,4294967808,1,'do_futex',8,'[kernel.kallsyms]',NULL),"
	" (2,3,3735928559,0,NULL,NULL,NULL,NULL),"
	" (3,0,4294968064,1,'io_schedule',4,'[kernel.kallsyms]',NULL),"
	" (3,1,4294968320,1,'blk_wait',4,'[kernel.kallsyms]',NULL);\n"
	/* what the analysis sums while writing the chain rows above */
	"INSERT INTO holder_time(" WC_HOLDER_TIME_COLUMNS ") "
	WC_HOLDER_TIME_REF_SELECT ";\n"
	"INSERT INTO thread_time(" WC_THREAD_TIME_COLUMNS ") "
	WC_THREAD_TIME_REF_SELECT ";\n";

#endif /* WC_REPORT_FIXTURE_H */
