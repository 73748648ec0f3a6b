"""External measuring programs (sglang.bench_serving) mapped into the kit's result document."""
