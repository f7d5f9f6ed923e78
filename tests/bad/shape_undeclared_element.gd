data x[3], Y
param w[3]
model y = dot(w, x) + u[0]
loss mean((y - Y)^2)
