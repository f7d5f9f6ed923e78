param W[3, 3]
data x[3], Y
model y = sum(W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ W @ x)
loss mean((y - Y)^2)
