# Two images from one build: `inference` (ONNX Runtime; CUDA build when USE_CUDA=true) and `web` (Blazor Server).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG USE_CUDA=false
WORKDIR /src
COPY . .
RUN dotnet publish Inference/MultimodalHub.Inference.csproj -c Release -o /out/inference -p:UseCuda=${USE_CUDA} \
 && dotnet publish Web/MultimodalHub.Web.csproj -c Release -o /out/web

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS web
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/web .
ENTRYPOINT ["dotnet", "MultimodalHub.Web.dll"]

# CUDA 12 + cuDNN 9 runtime for ONNX Runtime's CUDA execution provider, with the .NET runtime added.
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 AS inference
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates aspnetcore-runtime-10.0 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/inference .
ENTRYPOINT ["dotnet", "MultimodalHub.Inference.dll"]
