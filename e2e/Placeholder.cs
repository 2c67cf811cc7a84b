namespace MultimodalHub.E2E;
