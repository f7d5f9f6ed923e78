param w[d]
data X[n, d], Y
model y = sum(X @ w)
loss mean((y - Y)^2)
