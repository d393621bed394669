using Grpc.Net.Client;
using Scoring.Cli;

return await ScoringCli.RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable, address => GrpcChannel.ForAddress(address));
