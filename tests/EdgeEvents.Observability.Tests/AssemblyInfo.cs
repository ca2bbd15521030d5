// Tests here listen to process-wide activity sources and meters and measure seconds-scale health transitions:
// run them one at a time so one test's spans and measurements never land in another's exporter.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
