"""The models the streaming and Dask tests share, so that each is compiled (and its numba code
cached) once for both."""

LINE = "model y = m*x + b\nloss mean((y - Y)^2)\n"
# A data vector x[d] from the columns x1, x2, …, with a penalty outside the mean.
VECTOR = "data x[d], Y\nparam w[d] = 0, b = 0\nmodel y = dot(w, x) + b\nloss mean((y - Y)^2) + 0.01*sum(w^2)\n"
