param W[4, 3], v[4]
data x[d], Y
model y = dot(v, tanh(W @ x))
loss mean((y - Y)^2)
