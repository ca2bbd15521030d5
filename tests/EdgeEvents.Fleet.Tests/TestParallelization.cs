// The acceptance tests here each run a site's whole pipeline (detector, LLM) and several brokers on the shared cores:
// one at a time, so their timings (offline within a site timeout, catch-up) measure the link, not the contention.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
