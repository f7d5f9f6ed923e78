param W[5000, 5000]
data x[5000], Y
model y = sum(W @ x)
loss mean((y - Y)^2)
