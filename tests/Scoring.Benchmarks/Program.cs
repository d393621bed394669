using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Scoring.Benchmarks.ScoreBenchmarks).Assembly).Run(args);
