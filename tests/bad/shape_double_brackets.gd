data x[3], Y
param W[2, 3], v[2]
model y = W[0][1] * dot(v, W @ x)
loss mean((y - Y)^2)
