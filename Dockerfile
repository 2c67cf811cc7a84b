# Two images from one build: `inference` (ONNX Runtime; the CUDA build when USE_CUDA=true, on an NVIDIA CUDA runtime base)
# and `web` (Blazor Server). Both are self-contained linux-x64 publishes: the images need no .NET runtime of their own.
#   docker build --target inference --build-arg USE_CUDA=true -t multimodalhub/inference .
#   docker run --gpus all -p 127.0.0.1:5081:5081 -v $PWD/models:/models:ro multimodalhub/inference serve --urls http://0.0.0.0:5081
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG USE_CUDA=false
WORKDIR /src
COPY . .
RUN dotnet publish Inference/MultimodalHub.Inference.csproj -c Release -r linux-x64 --self-contained -p:PublishReadyToRun=true -o /out/inference -p:UseCuda=${USE_CUDA} \
 && dotnet publish Web/MultimodalHub.Web.csproj -c Release -r linux-x64 --self-contained -p:PublishReadyToRun=true -o /out/web

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0 AS web
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/web .
ENTRYPOINT ["./MultimodalHub.Web"]

# CUDA 13 + cuDNN 9: what ONNX Runtime 1.32's GPU package (Microsoft.ML.OnnxRuntime.Gpu.Linux) is built against
# (its CUDA provider loads libcublasLt.so.13). libicu is what a self-contained .NET app needs from the OS.
# Without a GPU (or without --gpus) the same image runs on the CPU and logs why once.
FROM nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04 AS inference
RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates libicu74 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /out/inference .
ENV Inference__ModelRoots__0=/models
ENTRYPOINT ["./MultimodalHub.Inference"]
