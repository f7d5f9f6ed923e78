data x[3], Y
param W[2, 3], v[2]
model y = dot(v, W @ x) + W[1]
loss mean((y - Y)^2)
