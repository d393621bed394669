using Grpc.AspNetCore.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi.Models;
using Scoring.Api.Grpc;
using Scoring.Api.Options;
using Scoring.Api.Security;

namespace Scoring.Api.Extensions;

/// <summary>
/// The HTTP/JSON API: every unary RPC transcoded from its <c>google.api.http</c> route (same handlers,
/// interceptors, authentication, roles and rate limits as gRPC), CORS for an allow-list of browser origins,
/// and an OpenAPI document generated from the protos at <c>/openapi/v1.json</c>.
/// </summary>
public static class HttpApiExtensions
{
    public const string CorsPolicy = "dashboards";
    public const string OpenApiRoute = "openapi/{documentName}.json";

    public static IGrpcServerBuilder AddScoringHttpApi(this IGrpcServerBuilder grpc, IServiceCollection services)
    {
        services.AddOptions<HttpOptions>().BindConfiguration(HttpOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HttpOptions>, HttpOptionsValidator>();
        services.AddCors();
        services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>()
            .Configure<IOptions<HttpOptions>>((cors, http) => cors.AddPolicy(CorsPolicy, policy => policy
                .WithOrigins(http.Value.CorsOrigins)
                .WithMethods(HttpMethods.Get, HttpMethods.Post)
                .WithHeaders("authorization", "content-type")
                .WithExposedHeaders("www-authenticate", "retry-after")));

        services.AddGrpcSwagger();
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Scoring",
                Version = "v1",
                Description = "Conduct scores, violations, appeals, audit and privacy over HTTP/JSON: every gRPC method of scoring.v1 at its google.api.http route.",
            });
            var comments = Path.Combine(AppContext.BaseDirectory, "Scoring.Api.xml");
            if (File.Exists(comments))
            {
                swagger.IncludeXmlComments(comments);
                swagger.IncludeGrpcXmlComments(comments, includeControllerXmlComments: true);
            }
        });

        // The error details the services attach (google.rpc.BadRequest and the rest of error_details.proto)
        // must be known by name to be written into an error's JSON "details".
        return grpc.AddJsonTranscoding(transcoding => transcoding.TypeRegistry = Google.Protobuf.Reflection.TypeRegistry.FromFiles(
            Google.Rpc.ErrorDetailsReflection.Descriptor, Google.Rpc.StatusReflection.Descriptor));
    }

    /// <summary>Before authentication, so a browser's preflight (which carries no token) is answered.</summary>
    public static WebApplication UseScoringHttpApi(this WebApplication app)
    {
        app.UseCors(CorsPolicy);
        app.Use((context, next) =>
        {
            if (!Refusal.IsGrpc(context.Request))
            {
                HttpStatusCodes.CorrectOnStart(context);
            }

            return next(context);
        });
        return app;
    }

    /// <summary>
    /// The OpenAPI document, open to anyone like the protos it comes from. An endpoint rather than
    /// Swashbuckle's middleware, which would match its route template against every call's path.
    /// </summary>
    public static WebApplication MapScoringHttpApi(this WebApplication app)
    {
        app.MapSwagger("/" + OpenApiRoute).AllowAnonymous();
        return app;
    }
}
