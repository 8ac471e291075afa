"""tune's Python side: reads what the TypeScript side prepared; does only what needs PyTorch."""
