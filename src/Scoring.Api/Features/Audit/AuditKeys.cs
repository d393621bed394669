using Microsoft.Extensions.Options;
using Scoring.Api.Options;
using Scoring.Domain.Audit;

namespace Scoring.Api.Features.Audit;

/// <summary>The audit keyring, built once from validated <see cref="AuditOptions"/>.</summary>
public static partial class AuditKeys
{
    public static IServiceCollection AddAuditKeys(this IServiceCollection services)
    {
        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<AuditOptions>>().Value.ToKeyring(sp.GetRequiredService<IHostEnvironment>()));
        return services;
    }

    /// <summary>Names the current key at start, and warns while it is the public development key.</summary>
    public static void LogAuditKey(this WebApplication app)
    {
        var keyring = app.Services.GetRequiredService<AuditKeyring>();
        if (string.IsNullOrWhiteSpace(app.Services.GetRequiredService<IOptions<AuditOptions>>().Value.ChainKey))
        {
            LogDevelopmentKey(app.Logger, app.Environment.EnvironmentName, keyring.Current.Id);
        }
        else
        {
            LogCurrentKey(app.Logger, keyring.Current.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit__ChainKey is not set: the {Environment} environment chains audit entries with the public development key {KeyId}, which proves nothing")]
    private static partial void LogDevelopmentKey(ILogger logger, string environment, string keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Audit entries are chained with key {KeyId}")]
    private static partial void LogCurrentKey(ILogger logger, string keyId);
}
