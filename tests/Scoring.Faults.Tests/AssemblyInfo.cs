// Every test here puts 16 writers on service processes and injects faults into the servers they use:
// two at once would share the machine's cores (and the shared PostgreSQL and Redis), and each would
// measure the other's load. They run one after another.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
