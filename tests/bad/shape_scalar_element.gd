data x[d], Y
param w[d], b
model y = dot(w, x) + b[0]
loss mean((y - Y)^2)
