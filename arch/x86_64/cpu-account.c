/*
 * The storage behind arch_cpu_charge (include/Arch.h): the running
 * thread's CPU-time counters, which the scheduler loads from and saves to
 * its Thread at every switch (Process/CPUTime.swift).
 */
#include "Arch.h"

struct arch_cpu_account arch_cpu_account;
